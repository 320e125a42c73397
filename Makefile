# moetrain build. The fast build links OpenBLAS through cgo (Debian: libopenblas-dev);
# without it everything still builds and runs on gonum's pure Go BLAS, only slower.
GO        ?= go
HAVE_BLAS := $(shell echo 'int main(void){return 0;}' | $(CC) -include cblas.h -x c - -lopenblas -o /dev/null >/dev/null 2>&1 && echo yes)
# The MPI backend of parallel.Comm (parallel/mpi*.go) builds when Open MPI's mpicc is found, with the
# pkg-config file cgo reads (Debian: openmpi-bin libopenmpi-dev pkg-config); without it NewMPI says how to get it.
HAVE_MPI  := $(shell command -v mpicc >/dev/null 2>&1 && pkg-config --exists ompi-c 2>/dev/null && echo yes)
comma     := ,
TAGS      ?= $(subst $(eval) ,$(comma),$(strip $(if $(HAVE_BLAS),openblas) $(if $(HAVE_MPI),mpi)))
GOFLAGS_T := $(if $(TAGS),-tags $(TAGS),)
CC        ?= cc

# Where the checks beyond `make test` find staticcheck (.ci/run installs the pinned version there).
STATICCHECK ?= $(shell $(GO) env GOPATH)/bin/staticcheck
# -race runs on the tests that exercise goroutines: autograd's engines and core pool, the optimizer,
# checkpoint saves, the training loop's resume/eval paths and multi-rank runs, the local backend and the
# expert-parallel dispatcher (filtered to keep the race build short).
RACE_AUTOGRAD ?= Engine|SplitRange|Pool|GEMMAccounting|Concurrent|SgemmTiled$$|PeaksLeave|Profile|CheckFinite
RACE_TRAIN    ?= Resume|Eval|Dropout|Inference|Engines|Parallel
RACE_PARALLEL ?= Local|ExpertParallel

.PHONY: build test vet fmt-check bench tiny clean ci test-purego vet-cross race staticcheck fuzz hostile test-mpi crash

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

# What CI runs: the README's test command, then the pure-Go BLAS build of the numeric packages, go vet
# for a non-amd64 architecture (the !amd64 kernels), the race detector and staticcheck.
ci: test test-purego vet-cross race staticcheck fuzz hostile test-mpi crash

# The MPI backend's tests: the conformance suite under mpirun at 2 and 4 processes, a hung and a killed
# rank (parallel/mpi_driver_test.go launches the jobs), then the build without the mpi tag, whose NewMPI
# must refuse with instructions.
test-mpi:
ifeq ($(HAVE_MPI),yes)
	$(GO) test -tags $(TAGS) -count=1 -timeout 10m -run 'MPI' -v ./parallel/
	$(GO) test -count=1 -run 'MPI' ./parallel/
else
	@echo "test-mpi: mpicc not found, so the MPI backend is not built; install openmpi-bin libopenmpi-dev to test it"
endif

# Every Go fuzz target (func FuzzX in a *_test.go file), each for FUZZTIME beyond its committed seeds, which
# `make test` already runs as ordinary tests. A crash the fuzzer finds is written under testdata/fuzz/ and fails.
# Go's fuzz engine sometimes misses its own deadline on a loaded machine ("context deadline exceeded", no failing
# input): that target alone runs once more.
FUZZTIME ?= 8s
fuzz:
	@set -e; tmp=$$(mktemp); trap 'rm -f $$tmp' EXIT; for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test $(GOFLAGS_T) -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
			echo "fuzz $$pkg $$f ($(FUZZTIME))"; \
			if ! $(GO) test $(GOFLAGS_T) -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 2s $$pkg >$$tmp 2>&1; then \
				cat $$tmp; \
				grep -q 'context deadline exceeded' $$tmp && ! grep -q 'Failing input written' $$tmp || exit 1; \
				echo "fuzz $$f: the fuzz engine missed its own deadline (a loaded machine), no failing input: once more"; \
				$(GO) test $(GOFLAGS_T) -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 2s $$pkg; \
			else tail -n 2 $$tmp; fi; \
		done; \
	done

# The hostile-input probe: stranger's files and careless flags, each under a memory and a time limit, each
# expected to end in exit 1 with a message naming the file or key (tools/hostile.sh).
hostile: build
	bash tools/hostile.sh bin/moetrain

# The checkpoint crash test, short form (tools/crash_test.sh): runs killed with SIGKILL at random moments,
# saves included, and resumed must end bit-identical to an uninterrupted run; world 1 with synchronous saves,
# world 2 (expert-parallel 2) with asynchronous ones. The long form: tools/crash_test.sh --kills 24 ...
crash: build
	bash tools/crash_test.sh --kills 4
	bash tools/crash_test.sh --kills 4 --world 2 --ep 2 --async

test-purego:
	$(GO) test -count=1 -timeout 10m ./autograd/ ./layers/

vet-cross:
	GOARCH=arm64 $(GO) vet ./...

race:
	$(GO) test $(GOFLAGS_T) -race -count=1 -timeout 10m -run '$(RACE_AUTOGRAD)' ./autograd/
	$(GO) test $(GOFLAGS_T) -race -count=1 -timeout 10m ./optim/ ./checkpoint/
	$(GO) test $(GOFLAGS_T) -race -count=1 -timeout 10m -run '$(RACE_TRAIN)' ./train/
	$(GO) test $(GOFLAGS_T) -race -count=1 -timeout 10m -run '$(RACE_PARALLEL)' ./parallel/

# Both builds: with the BLAS tag and without it (the gonum route's files).
staticcheck:
	$(STATICCHECK) $(GOFLAGS_T) ./...
	$(if $(TAGS),$(STATICCHECK) ./...)

bench:
	$(GO) test $(GOFLAGS_T) -run '^$$' -bench . -benchmem ./...

# Train the tiny preset on the embedded corpus.
tiny: build
	bin/moetrain pretrain --config tiny --out runs/tiny

clean:
	rm -rf bin runs
