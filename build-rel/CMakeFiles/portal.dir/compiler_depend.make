# Empty custom commands generated dependencies file for portal.
# This may be replaced when dependencies are built.
