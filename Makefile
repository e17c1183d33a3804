# medchain — front door. `make` builds build/medchain; `make test` installs
# what is missing, builds under the sanitizers and runs every test; `make
# sim SEEDS=N` soaks the consensus in its simulator; `make demo` starts a
# local network with sample data.
JOBS ?= 2
MAKEFLAGS += --no-print-directory
CMAKE ?= cmake
BUILD := build
BUILD_ASAN := build-asan
BUILD_FUZZ := build-fuzz
FUZZ_SECONDS ?= 20
SEEDS ?= 200

.PHONY: all build build-asan build-fuzz deps test test-unit test-fuzz sim demo bench format lint clean

all: build

deps:
	@scripts/deps

build: deps
	@$(CMAKE) -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DMEDCHAIN_TESTS=OFF >/dev/null
	@$(CMAKE) --build $(BUILD) -j$(JOBS)

build-asan: deps
	@$(CMAKE) -S . -B $(BUILD_ASAN) -DCMAKE_BUILD_TYPE=Debug -DMEDCHAIN_SANITIZE=ON >/dev/null
	@$(CMAKE) --build $(BUILD_ASAN) -j$(JOBS)

build-fuzz: deps
	@CC=clang $(CMAKE) -S . -B $(BUILD_FUZZ) -DCMAKE_BUILD_TYPE=Debug -DMEDCHAIN_FUZZ=ON >/dev/null
	@$(CMAKE) --build $(BUILD_FUZZ) -j$(JOBS)

# Every test under AddressSanitizer + UndefinedBehaviorSanitizer: unit,
# vectors and integration through CTest, then each fuzz target briefly.
test: build-asan build-fuzz
	@cd $(BUILD_ASAN) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j$(JOBS)
	@cd $(BUILD_FUZZ) && FUZZ_SECONDS=$(FUZZ_SECONDS) ctest --output-on-failure -L fuzz

test-unit: build-asan
	@cd $(BUILD_ASAN) && ctest --output-on-failure -j$(JOBS) -L unit

test-fuzz: build-fuzz
	@cd $(BUILD_FUZZ) && FUZZ_SECONDS=$(FUZZ_SECONDS) ctest --output-on-failure -L fuzz

# The consensus simulator (tests/sim, docs/consensus.md) over SEEDS seeds:
# a count (1..N) or a range A-B. It prints seeds/s and, for each failing
# seed, the command that replays it.
sim: deps
	@$(CMAKE) -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DMEDCHAIN_TESTS=ON >/dev/null
	@$(CMAKE) --build $(BUILD) -j$(JOBS) --target medchain_sim
	@$(BUILD)/medchain_sim --seeds $(SEEDS)

demo: build
	@ARGS="$(ARGS)" scripts/demo

bench: build
	@$(BUILD)/medchain bench --nodes 1

format:
	@clang-format -i $$(git ls-files 'src/*.c' 'src/*.h' 'tests/*.c' 'tests/*.h' 'bench/*.c')

lint:
	@scripts/check-banned src
	@cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability --std=c11 \
	  -D MEDCHAIN_DEBUG_CHECKS=1 -I src src/
	@clang-format --dry-run -Werror $$(git ls-files 'src/*.c' 'src/*.h' 'tests/*.c')

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_FUZZ)
