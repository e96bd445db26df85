# Thin wrapper over the two things a user does first.
#   make run    install build deps, build, fetch + build the default guest, boot it
#   make test   install test deps, build with sanitizers, run every test suite
BUILD ?= build

.PHONY: run test build guest deps clean

run: build guest
	./$(BUILD)/src/cli/vmkit run $(ARGS)

deps:
	bash tools/deps.sh

build: deps
	@[ -f $(BUILD)/build.ninja ] || meson setup $(BUILD) --buildtype=release >/dev/null
	ninja -C $(BUILD) -j2

guest: deps
	bash tools/guest/build.sh

test:
	bash tests/run.sh

clean:
	rm -rf $(BUILD) build-test
