# The README's two commands, and a few more. CMake does the building; this
# file installs what is missing and runs things in the right order.
BUILD_DIR ?= build
ASAN_DIR  ?= build-asan
FUZZ_DIR  ?= build-fuzz
DEB_DIR   ?= build-deb
FUZZ_SECONDS ?= 60
CTEST_JOBS ?= 2

.PHONY: all deps build build-asan check test lint format tidy demo fuzz deb clean

all: build

deps:
	@tools/install-deps.sh check

build:
	@tools/install-deps.sh build
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	    -DTLSWARD_FAULT_INJECTION=ON >/dev/null
	cmake --build $(BUILD_DIR)

build-asan:
	@tools/install-deps.sh build
	cmake -S . -B $(ASAN_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DTLSWARD_SANITIZE=ON \
	    -DTLSWARD_FAULT_INJECTION=ON >/dev/null
	cmake --build $(ASAN_DIR)

# Every test, in the normal build and under AddressSanitizer + UBSan, plus
# the format and lint checks.
check: deps build build-asan lint
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j$(CTEST_JOBS)
	ctest --test-dir $(ASAN_DIR) --output-on-failure -j$(CTEST_JOBS)

test: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j$(CTEST_JOBS)

lint: build
	tools/lint.sh $(BUILD_DIR)

format:
	tools/lint.sh --fix

demo: build
	@tools/install-deps.sh demo
	tools/demo.sh $(BUILD_DIR)

# Each libFuzzer target for FUZZ_SECONDS; non-zero exit on any crash.
fuzz:
	@tools/install-deps.sh check
	cmake -S . -B $(FUZZ_DIR) -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DTLSWARD_FUZZ=ON \
	    -DTLSWARD_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build $(FUZZ_DIR)
	tools/fuzz.sh $(FUZZ_DIR) $(FUZZ_SECONDS)

# The Debian package (packaging/debian), built from a copy of the tree in
# $(DEB_DIR)/ with dpkg-buildpackage, then checked with lintian. The .deb
# ends up in $(DEB_DIR)/.
deb:
	@tools/install-deps.sh deb
	tools/build-deb.sh $(DEB_DIR)

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR) $(FUZZ_DIR) $(DEB_DIR) demo-run
