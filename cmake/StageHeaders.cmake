# pip builds each install in a fresh isolated environment, so the path of Eigen's and pybind11's
# headers changes with every `pip install`, and with it every compile command: the whole core was
# recompiled each time (58 s on an idle 2-core machine, with nothing changed). Copies in the build
# tree, rewritten only when their content changes, keep the commands and ninja's work the same.

# Copies the files under <include dir of target>/<subdir> to <build>/staged/<name>/<subdir> and
# points the imported target at the copy.
function(overflow_stage_headers target subdir name)
  get_target_property(dirs ${target} INTERFACE_INCLUDE_DIRECTORIES)
  set(stage ${CMAKE_BINARY_DIR}/staged/${name})
  foreach(dir IN LISTS dirs)
    if(NOT IS_DIRECTORY "${dir}/${subdir}")
      continue()
    endif()
    file(GLOB_RECURSE files RELATIVE "${dir}" "${dir}/${subdir}/*")
    foreach(f IN LISTS files)
      get_filename_component(parent "${stage}/${f}" DIRECTORY)
      file(MAKE_DIRECTORY "${parent}")
      if(CMAKE_VERSION VERSION_GREATER_EQUAL 3.21)
        file(COPY_FILE "${dir}/${f}" "${stage}/${f}" ONLY_IF_DIFFERENT)
      else()
        configure_file("${dir}/${f}" "${stage}/${f}" COPYONLY)
      endif()
    endforeach()
    set_property(TARGET ${target} PROPERTY INTERFACE_INCLUDE_DIRECTORIES "${stage}")
    return()
  endforeach()
  message(FATAL_ERROR "overflow: no ${subdir}/ in the include directories of ${target} (${dirs})")
endfunction()
