#!/usr/bin/python3
"""The registries are the only lists of components:

    test_registries.py REPO_ROOT

- every folder under detectors/ is included and listed in
  detectors/registry.cc, and every detector listed there has its folder;
- every folder under alerts/sinks/ is a sink type of
  alerts/sinks/registry.cc, and every type there has its folder;
- every folder under src/sources/ is a source type of
  src/sources/registry.cc, and every type there has its folder; no code
  outside a source's folder names a source type (the daemon, its config
  reader and the server go through the registry);
- each component folder's sources are compiled (CMakeLists.txt); each
  detector has its test beside it (detectors/<name>/<name>_test.cc, built
  by tests/CMakeLists.txt's glob);
- docs/EXTENDING.md names the registry file of each recipe.
"""
import os
import re
import sys

ROOT = os.path.abspath(sys.argv[1])
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def read(*parts):
    with open(os.path.join(ROOT, *parts)) as f:
        return f.read()


def folders(*parts):
    base = os.path.join(ROOT, *parts)
    return sorted(d for d in os.listdir(base) if os.path.isdir(os.path.join(base, d)))


def check_component_folders(base, kind, registered, registry, cmake):
    """Every folder under `base` is a registered `kind`, every registered
    name has its folder, and each folder's sources are compiled and its
    header included by the registry."""
    on_disk = set(folders(*base.split("/")))
    check(on_disk == registered, f"every {base}/ folder is a registered {kind} "
          f"(unregistered: {sorted(on_disk - registered)}, without a folder: "
          f"{sorted(registered - on_disk)})")
    for d in sorted(on_disk):
        sources = [f for f in os.listdir(os.path.join(ROOT, base, d)) if f.endswith(".cc")]
        check(sources and all(f"{base}/{d}/{f}" in cmake for f in sources),
              f"{base}/{d}: its sources are compiled")
        check(re.search(rf'#include "{base}/{d}/\w+\.h"', registry) is not None,
              f"{base}/{d}: included by the registry")


def main():
    cmake = read("CMakeLists.txt")
    extending = read("docs", "EXTENDING.md")

    # Detectors: an include, an instance and a place in kDetectors each.
    registry = read("detectors", "registry.cc")
    included = set(re.findall(r'#include "detectors/(\w+)/\1\.h"', registry))
    instances = dict(re.findall(r"^const (\w+) (k\w+);", registry, re.M))
    table = re.search(r"kDetectors\[\] = \{(.*?)\};", registry, re.S).group(1)
    listed = set(re.findall(r"&(k\w+)", table))
    on_disk = set(folders("detectors"))
    check(on_disk == included, f"every detectors/ folder is included in the registry "
          f"(unregistered: {sorted(on_disk - included)}, without a folder: "
          f"{sorted(included - on_disk)})")
    check(set(instances.values()) == listed and len(listed) == len(on_disk),
          f"every detector instance is in kDetectors ({sorted(set(instances.values()) ^ listed)})")
    tests_cmake = read("tests", "CMakeLists.txt")
    check("detectors/*/*_test.cc" in tests_cmake,
          "tests/CMakeLists.txt builds every detectors/<name>/<name>_test.cc")
    for d in sorted(on_disk):
        files = os.listdir(os.path.join(ROOT, "detectors", d))
        sources = [f for f in files if f.endswith(".cc") and not f.endswith("_test.cc")]
        check(sources and all(f"detectors/{d}/{f}" in cmake for f in sources),
              f"detectors/{d}: its sources are compiled")
        test = os.path.join(ROOT, "detectors", d, f"{d}_test.cc")
        check(os.path.exists(test) and "TEST_CASE" in read("detectors", d, f"{d}_test.cc"),
              f"detectors/{d}: its test {d}_test.cc is beside it")
    check("detectors/registry.cc" in extending, "EXTENDING.md names detectors/registry.cc")

    # Sinks: one line of kSinkTypes each.
    registry = read("alerts", "sinks", "registry.cc")
    types = set(re.findall(r'^\s+\{"(\w+)", SinkTakes::', registry, re.M))
    check_component_folders("alerts/sinks", "sink type", types, registry, cmake)
    check("alerts/sinks/registry.cc" in extending, "EXTENDING.md names alerts/sinks/registry.cc")

    # Sources: one line of kSourceTypes each, and no type named elsewhere.
    # Each type is described in its folder's header (an inline constexpr
    # k<Type>SourceType whose .type is the folder's name) and listed in
    # kSourceTypes by one line.
    registry = read("src", "sources", "registry.cc")
    table = re.search(r"kSourceTypes\[\] = \{(.*?)\};", registry, re.S).group(1)
    listed = set(re.findall(r"&k(\w+)SourceType", table))
    described = {}  # constant name -> its .type
    for d in folders("src", "sources"):
        for f in os.listdir(os.path.join(ROOT, "src", "sources", d)):
            if f.endswith(".h"):
                for name, t in re.findall(r'inline constexpr SourceType k(\w+)SourceType = \{\s*'
                                          r'\.type = "(\w+)"', read("src", "sources", d, f)):
                    described[name] = t
                    check(t == d, f"src/sources/{d}/{f}: the type it describes is named for "
                          f"its folder ({t})")
    types = {described[n] for n in listed if n in described}
    check(listed <= set(described), f"every kSourceTypes entry is described in a folder "
          f"({sorted(listed - set(described))})")
    check_component_folders("src/sources", "source type", types, registry, cmake)
    # A type compared by name outside its folder is a list the registry
    # does not know about.
    named = []
    for top in ("src", "include", "alerts"):
        for dirpath, _, files in os.walk(os.path.join(ROOT, top)):
            rel = os.path.relpath(dirpath, ROOT)
            if rel.startswith(os.path.join("src", "sources")):
                continue
            for f in files:
                if not f.endswith((".cc", ".h")):
                    continue
                text = read(rel, f)
                for t in set(described.values()) | types:
                    if re.search(rf'type\s*[!=]=\s*"{t}"|"{t}"\s*[!=]=\s*\w*type', text):
                        named.append(f"{rel}/{f}: {t}")
    check(not named, f"no source type is compared by name outside src/sources/ {named}")
    check("src/sources/registry.cc" in extending, "EXTENDING.md names src/sources/registry.cc")

    if failures:
        print(f"{len(failures)} failed")
        sys.exit(1)
    print("all passed")


if __name__ == "__main__":
    main()
