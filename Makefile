# ferrodis: the two everyday commands are `make run` and `make test`.
CARGO ?= cargo
BIN := target/release/ferrodis-server

.PHONY: build run test compat compat-check bench fmt clippy clean

build:
	$(CARGO) build --release

run: build
	$(BIN) redis.conf.example

test: build
	$(CARGO) fmt --check
	$(CARGO) clippy --release --all-targets -- -D warnings
	FERRODIS_BIN=$(CURDIR)/$(BIN) $(CARGO) test --release

# Redis 7.0.15's own Tcl suite against our binary; UNITS="unit/auth unit/quit" to pick units.
compat: build
	bash scripts/compat.sh $(UNITS)

# Fails when any unit passes fewer tests than tests/compat-baseline.txt records.
compat-check: build
	bash scripts/compat.sh --check tests/compat-baseline.txt

bench: build
	bash scripts/bench.sh

clean:
	$(CARGO) clean
