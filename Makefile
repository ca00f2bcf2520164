# Dossierkast. On a new machine: `make run` starts the product with demo data, `make test` runs
# every test against a real PostgreSQL (found or started the same way as make run).

GO      ?= go
BIN     := bin/dossierkast
PKGS    := ./...

.PHONY: run test build generate lint bench clean

build:
	$(GO) build -o $(BIN) ./cmd/dossierkast

## run: build, migrate, load the demo tenant (idempotent) and serve on http://localhost:8080
run: build
	./$(BIN) demo
	./$(BIN) serve

## test: every test, in parallel, against real PostgreSQL, SMTP and headless Chromium
test:
	$(GO) test -count=1 -timeout 20m $(PKGS)

## generate: regenerate templ views (the generated files are committed)
generate:
	$(GO) tool templ generate

## lint: formatting, vet, staticcheck, generated files that match their sources, and no
## capability that imports the web tree
lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }
	$(GO) vet $(PKGS)
	$(GO) tool templ generate
	@git diff --exit-code -- '*_templ.go' || { echo "templ generate changed generated files: commit them"; exit 1; }
	$(GO) tool staticcheck $(PKGS)
	@! $(GO) list -deps $$($(GO) list ./internal/... | grep -v '/internal/server$$') | grep '/web/' || { echo "a package under internal/ other than server imports web/ (above)"; exit 1; }

## bench: figures named in the issues (demo load of 100,000 employees, ...)
bench:
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 60m $(PKGS)

clean:
	rm -rf bin
