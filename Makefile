# The two commands a new user types: `make run` and `make test`. Everything else supports them.
JOBS ?= $(shell nproc)
ARGS ?=
FUZZ_SECONDS ?= 60
FUZZ_TARGETS = $(patsubst fuzz/%_fuzz.cpp,%,$(wildcard fuzz/*_fuzz.cpp))

.PHONY: deps browser-deps s3-deps openapi-deps build build-dev build-fuzz build-tsan package run test test-unit \
	test-tsan fuzz format lint clean bench soak

deps:
	@scripts/install-deps.sh

# Chromium, Node.js and the pinned npm packages of tests/browser: only the tests need them.
browser-deps: deps
	@scripts/install-browser-deps.sh

# Node.js and the pinned s3rver of tests/s3: the object-storage tests run teamreg against it.
s3-deps: deps
	@scripts/install-s3-deps.sh

# Node.js and the pinned OpenAPI 3.1 meta-schema of tests/openapi: docs/openapi.yaml is checked against it.
openapi-deps: deps
	@scripts/install-openapi-deps.sh

build: deps
	cmake --preset release >/dev/null
	cmake --build --preset release -j $(JOBS) --target teamreg

build-dev: deps
	cmake --preset dev >/dev/null
	cmake --build --preset dev -j $(JOBS)

# The Debian package with the systemd unit (docs/operations.md#installing-the-debian-package).
package: build
	cd build/release && cpack -G DEB

run: build
	./build/release/teamreg serve $(ARGS)

# The libFuzzer targets of fuzz/ (clang, ASan+UBSan): only the parsers they test, not the server.
build-fuzz: deps
	cmake --preset fuzz >/dev/null
	cmake --build --preset fuzz -j $(JOBS)

# All tests (unit, e2e on SQLite, PostgreSQL, S3, browser) under ASan+UBSan, then every fuzz
# target for a few seconds from its committed seeds (ctest label fuzz).
test: build-dev build-fuzz browser-deps s3-deps openapi-deps
	ctest --preset dev -j 2 --timeout 900 --output-on-failure
	ctest --preset fuzz -j 2

# Every fuzz target for FUZZ_SECONDS each, sharing the working corpora of the ctest runs. What a
# target learns stays in build/fuzz/fuzz/corpus/<target>/ (fuzz/corpus/ holds only the committed
# seeds); a crash is saved to build/fuzz/fuzz/artifacts/<target>/.
fuzz: build-fuzz
	@failed=""; for t in $(FUZZ_TARGETS); do \
	  echo "== fuzz_$$t for $(FUZZ_SECONDS) s"; \
	  mkdir -p build/fuzz/fuzz/corpus/$$t build/fuzz/fuzz/artifacts/$$t; \
	  build/fuzz/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
	    -print_final_stats=1 -dict=fuzz/dict/$$t.dict \
	    -artifact_prefix=build/fuzz/fuzz/artifacts/$$t/ \
	    build/fuzz/fuzz/corpus/$$t fuzz/corpus/$$t || failed="$$failed $$t"; \
	done; \
	if [ -n "$$failed" ]; then echo "fuzz targets that failed:$$failed"; exit 1; fi

test-unit: build-dev
	ctest --preset dev -L unit

# ThreadSanitizer (docs/reliability.md): the server and its tests only, not the benchmarks.
build-tsan: deps
	cmake --preset tsan >/dev/null
	cmake --build --preset tsan -j $(JOBS) --target teamreg teamreg_unit_tests teamreg_pg_tests

# The unit tests (worker pool, rate limiter, server under concurrent requests and stops, committer,
# CoalescedSync...) and teamreg_pg_tests (the store behaviour suite on SQLite and a real
# PostgreSQL) under TSan: ctest labels unit and tsan. Any report fails the test (halt_on_error=1). Not part of
# `make test`: it would take CI past 30 min (docs/reliability.md).
test-tsan: build-tsan
	ctest --preset tsan -j 2 --timeout 900

format:
	clang-format -i $$(git ls-files '*.cpp' '*.hpp')

lint:
	cmake --preset tidy >/dev/null
	run-clang-tidy -p build/tidy -quiet $$(git ls-files 'src/*.cpp')

clean:
	rm -rf build

# Short load benchmark (under 5 minutes) on SQLite and a throw-away PostgreSQL; prints the table.
bench: deps
	cmake --preset release >/dev/null
	cmake --build --preset release -j $(JOBS) --target teamreg teamreg_loadgen
	bench/run.sh

# Soak run, not part of `make test`: SOAK_SECONDS (default 600) of mixed traffic on SQLite, then on
# a throw-away PostgreSQL; checks that resources return to where they started and IDs stay 1..N.
SOAK_SECONDS ?= 600
soak: deps
	cmake --preset release >/dev/null
	cmake --build --preset release -j $(JOBS) --target teamreg
	SOAK_SECONDS=$(SOAK_SECONDS) bench/soak.sh
