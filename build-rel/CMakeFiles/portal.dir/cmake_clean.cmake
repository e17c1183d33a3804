file(REMOVE_RECURSE
  "CMakeFiles/portal"
  "web/.built"
)

# Per-language clean rules from dependency scanning.
foreach(lang )
  include(CMakeFiles/portal.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
