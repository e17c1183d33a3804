file(REMOVE_RECURSE
  "libmedchain_core.a"
)
