file(REMOVE_RECURSE
  "CMakeFiles/medchain.dir/src/cli/main.c.o"
  "CMakeFiles/medchain.dir/src/cli/main.c.o.d"
  "medchain"
  "medchain.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/medchain.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
