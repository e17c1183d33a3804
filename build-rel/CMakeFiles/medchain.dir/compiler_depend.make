# Empty compiler generated dependencies file for medchain.
# This may be replaced when dependencies are built.
