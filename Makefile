# moetrain build. The fast build links OpenBLAS through cgo (Debian: libopenblas-dev);
# without it everything still builds and runs on gonum's pure Go BLAS, only slower.
GO        ?= go
HAVE_BLAS := $(shell echo 'int main(void){return 0;}' | $(CC) -include cblas.h -x c - -lopenblas -o /dev/null >/dev/null 2>&1 && echo yes)
TAGS      ?= $(if $(HAVE_BLAS),openblas,)
GOFLAGS_T := $(if $(TAGS),-tags $(TAGS),)
CC        ?= cc

.PHONY: build test vet fmt-check bench tiny clean

build:
	$(GO) build $(GOFLAGS_T) -o bin/moetrain ./cmd/moetrain

vet:
	$(GO) vet $(GOFLAGS_T) ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "not gofmt-ed:"; echo "$$out"; exit 1; fi

# The test command the README gives: format, vet, then every package's tests.
test: fmt-check vet
	$(GO) test $(GOFLAGS_T) -count=1 -timeout 20m ./...

bench:
	$(GO) test $(GOFLAGS_T) -run '^$$' -bench . -benchmem ./...

# Train the tiny preset on the embedded corpus.
tiny: build
	bin/moetrain pretrain --config tiny --out runs/tiny

clean:
	rm -rf bin runs
