# docs/openapi.yaml, converted to JSON at build time (Debian's python3 with python3-yaml) and compiled
# into the binary, which serves it at GET /openapi.json with no file beside it (docs/operations.md).
set(TEAMREG_PYTHON /usr/bin/python3 CACHE FILEPATH
  "Debian's Python with python3-yaml and python3-jsonschema (OpenAPI build step and checks)")

function(teamreg_embed_openapi out_var)
  set(out "${CMAKE_BINARY_DIR}/generated/openapi_json.cpp")
  add_custom_command(
    OUTPUT "${out}"
    COMMAND ${CMAKE_COMMAND} -E make_directory "${CMAKE_BINARY_DIR}/generated"
    COMMAND "${TEAMREG_PYTHON}" "${PROJECT_SOURCE_DIR}/cmake/openapi_to_cpp.py"
            "${PROJECT_SOURCE_DIR}/docs/openapi.yaml" "${out}"
    DEPENDS "${PROJECT_SOURCE_DIR}/docs/openapi.yaml" "${PROJECT_SOURCE_DIR}/cmake/openapi_to_cpp.py"
    COMMENT "Converting docs/openapi.yaml to JSON"
    VERBATIM)
  set(${out_var} "${out}" PARENT_SCOPE)
endfunction()
