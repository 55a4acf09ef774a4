# Build, install and test mcp-host. `make install PREFIX=~/.local` puts the binary in $(PREFIX)/bin
# and its plugins (with mcph-supervisor) in $(PREFIX)/lib/mcp-host/plugins, the directory the
# binary reads by default, so the installed mcp-host works from any directory.
PREFIX ?= /usr/local
CONFIGURATION ?= release
BUILD_DIR = .build/$(CONFIGURATION)
PLUGIN_DIR = $(PREFIX)/lib/mcp-host/plugins

.PHONY: build install test
build:
	swift build -c $(CONFIGURATION)

# NO_BUILD=1 installs what is already built (the tests use it while SwiftPM holds the build lock).
install: $(if $(NO_BUILD),,build)
	install -d $(PREFIX)/bin $(PLUGIN_DIR)
	install -m 755 $(BUILD_DIR)/mcp-host $(PREFIX)/bin/mcp-host
	install -m 755 $(BUILD_DIR)/mcph-supervisor $(PLUGIN_DIR)/mcph-supervisor
	install -m 755 $(BUILD_DIR)/libmcph-stdio.so $(BUILD_DIR)/libmcph-namespace-router.so $(BUILD_DIR)/libmcph-cli.so $(BUILD_DIR)/libmcph-http.so $(PLUGIN_DIR)/
	install -m 755 $(BUILD_DIR)/libmcph-alias-router.so $(BUILD_DIR)/libmcph-filter-router.so $(PLUGIN_DIR)/
	install -m 755 $(BUILD_DIR)/libmcph-tcp.so $(PLUGIN_DIR)/

test:
	scripts/test
