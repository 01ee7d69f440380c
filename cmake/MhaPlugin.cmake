# mha_add_plugin(NAME SOURCES...)
# Builds libmha_plugin_NAME.so as a MODULE in the plugin folder of the build
# tree (which mirrors the install layout) and installs it. Only the entry
# symbol is exported.
function(mha_add_plugin name)
  set(target mha_plugin_${name})
  add_library(${target} MODULE ${ARGN})
  set_target_properties(${target} PROPERTIES
    PREFIX "lib"
    OUTPUT_NAME "mha_plugin_${name}"
    LIBRARY_OUTPUT_DIRECTORY "${MHA_PLUGIN_BUILD_DIR}"
    C_VISIBILITY_PRESET hidden)
  target_link_libraries(${target} PRIVATE mha_headers mha_warnings)
  target_link_options(${target} PRIVATE
    "-Wl,--version-script=${PROJECT_SOURCE_DIR}/cmake/plugin.map" "-Wl,--no-undefined")
  set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS "${PROJECT_SOURCE_DIR}/cmake/plugin.map")
  install(TARGETS ${target} LIBRARY DESTINATION "${MHA_PLUGIN_INSTALL_DIR}")
endfunction()
