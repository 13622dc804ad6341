package main

import (
	_ "embed"
	"io"
	"text/template"
)

// tryText is what the demo prints when it keeps running: commands to try by hand. test/e2e runs
// them against its node as printed, so they are kept in a file of their own.
//
//go:embed try.txt
var tryText string

var tryTemplate = template.Must(template.New("try").Parse(tryText))

// tryValues fill in try.txt.
type tryValues struct{ Kubeconfig, TalisURL string }

func printTry(w io.Writer, v tryValues) error { return tryTemplate.Execute(w, v) }
