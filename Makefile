# The two commands a new user types: `make run` and `make test`. Everything else supports them.
JOBS ?= $(shell nproc)
ARGS ?=

.PHONY: deps browser-deps s3-deps build build-dev run test test-unit format lint clean bench

deps:
	@scripts/install-deps.sh

# Chromium, Node.js and the pinned npm packages of tests/browser: only the tests need them.
browser-deps: deps
	@scripts/install-browser-deps.sh

# Node.js and the pinned s3rver of tests/s3: the object-storage tests run teamreg against it.
s3-deps: deps
	@scripts/install-s3-deps.sh

build: deps
	cmake --preset release >/dev/null
	cmake --build --preset release -j $(JOBS) --target teamreg

build-dev: deps
	cmake --preset dev >/dev/null
	cmake --build --preset dev -j $(JOBS)

run: build
	./build/release/teamreg serve $(ARGS)

# All tests (unit, e2e on SQLite, PostgreSQL, S3, browser) under ASan+UBSan.
test: build-dev browser-deps s3-deps
	ctest --preset dev -j 2 --timeout 900 --output-on-failure

test-unit: build-dev
	ctest --preset dev -L unit

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
