"""docs/openapi.yaml -> a C++ source file holding it as compact JSON (cmake/embed_openapi.cmake).

Usage: openapi_to_cpp.py IN.yaml OUT.cpp. Needs Debian's python3-yaml. Fails on YAML that is not one
mapping with `openapi` and `paths`, so a broken document stops the build rather than the server.
"""
import json
import sys

import yaml

DELIMITER = "teamreg_openapi"


def main() -> int:
    source, target = sys.argv[1], sys.argv[2]
    with open(source, encoding="utf-8") as f:
        document = yaml.safe_load(f)
    if not isinstance(document, dict) or "openapi" not in document or "paths" not in document:
        sys.stderr.write(f"{source}: not an OpenAPI document (no openapi or paths)\n")
        return 1
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    if f"){DELIMITER}\"" in text:
        sys.stderr.write(f"{source} contains the raw-string delimiter ){DELIMITER}\"\n")
        return 1
    with open(target, "w", encoding="utf-8") as f:
        f.write("// Generated from docs/openapi.yaml by cmake/openapi_to_cpp.py. Do not edit.\n"
                "#include \"web/openapi.hpp\"\n\n"
                "namespace teamreg::web {\n\n"
                "std::string_view openapi_json() {\n"
                f"  return R\"{DELIMITER}({text}){DELIMITER}\";\n"
                "}\n\n"
                "}  // namespace teamreg::web\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
