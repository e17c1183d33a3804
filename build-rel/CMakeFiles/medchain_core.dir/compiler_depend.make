# Empty compiler generated dependencies file for medchain_core.
# This may be replaced when dependencies are built.
