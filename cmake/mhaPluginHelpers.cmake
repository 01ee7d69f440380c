# mhaPluginHelpers.cmake - installed with the package and included by
# mhaConfig.cmake, for plugins built outside the mha tree (docs/plugins.md;
# examples/plugin). In the tree, cmake/MhaPlugin.cmake plays this role.
#
# mha_add_plugin(NAME SOURCES... [DESTINATION DIR])
#   Builds libmha_plugin_NAME.so as a MODULE against the installed plugin ABI
#   header (mha::mha_headers: no host symbols are linked), with only
#   mha_plugin_entry exported, and installs it into DESTINATION (default
#   MHA_PLUGIN_DIR, the folder the installed libmha searches).
set(MHA_PLUGIN_MAP "${CMAKE_CURRENT_LIST_DIR}/mha-plugin.map")

function(mha_add_plugin name)
  cmake_parse_arguments(arg "" "DESTINATION" "" ${ARGN})
  if(NOT arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "mha_add_plugin(${name}): no sources")
  endif()
  if(NOT arg_DESTINATION)
    set(arg_DESTINATION "${MHA_PLUGIN_DIR}")
  endif()
  set(target mha_plugin_${name})
  add_library(${target} MODULE ${arg_UNPARSED_ARGUMENTS})
  set_target_properties(${target} PROPERTIES
    PREFIX "lib"
    OUTPUT_NAME "mha_plugin_${name}"
    C_VISIBILITY_PRESET hidden
    C_STANDARD 11
    C_STANDARD_REQUIRED ON)
  target_link_libraries(${target} PRIVATE mha::mha_headers)
  target_link_options(${target} PRIVATE
    "-Wl,--version-script=${MHA_PLUGIN_MAP}" "-Wl,--no-undefined")
  set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS "${MHA_PLUGIN_MAP}")
  install(TARGETS ${target} LIBRARY DESTINATION "${arg_DESTINATION}")
endfunction()
