// Command oracle renders the template conformance corpus with External Secrets
// Operator's own template engine (pkg/template/v2, the engine behind
// `engineVersion: v2`) and prints the golden results as JSON on stdout.
//
// Usage: go run . ../corpus.json > ../golden.json (the npm script formats it).
//
// Each case is rendered through the engine's public Execute entry point, as one
// `target.template.data` value (scope Values, target Data), so the options ESO sets
// (missingkey=error, its delimiters, its function map) all apply unchanged.
package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"runtime/debug"
	"strings"
	"unicode/utf8"

	esv1 "github.com/external-secrets/external-secrets/apis/externalsecrets/v1"
	esotemplate "github.com/external-secrets/external-secrets/pkg/template/v2"
	corev1 "k8s.io/api/core/v1"
)

// corpus mirrors test/conformance/templates/corpus.json.
type corpus struct {
	Datasets map[string]map[string]string `json:"datasets"`
	Cases    []corpusCase                 `json:"cases"`
}

type corpusCase struct {
	Name     string          `json:"name"`
	Template string          `json:"template"`
	Data     json.RawMessage `json:"data"`
}

// result is one golden entry: the Output (OutputBase64 when it is not valid UTF-8,
// which JSON text cannot carry byte for byte), or an error class with its message.
type result struct {
	Name         string  `json:"name"`
	Output       *string `json:"output,omitempty"`
	OutputBase64 string  `json:"outputBase64,omitempty"`
	Error        string  `json:"error,omitempty"`
	Message      string  `json:"message,omitempty"`
}

type golden struct {
	Engine  string   `json:"engine"`
	Results []result `json:"results"`
}

const templateKey = "out"

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: oracle <corpus.json>")
		os.Exit(2)
	}
	raw, err := os.ReadFile(os.Args[1])
	if err != nil {
		fail(err)
	}
	var c corpus
	if err := json.Unmarshal(raw, &c); err != nil {
		fail(fmt.Errorf("corpus: %w", err))
	}
	out := golden{Engine: engineVersion()}
	seen := map[string]bool{}
	for _, tc := range c.Cases {
		if seen[tc.Name] {
			fail(fmt.Errorf("corpus: duplicate case name %q", tc.Name))
		}
		seen[tc.Name] = true
		data, err := caseData(c.Datasets, tc)
		if err != nil {
			fail(err)
		}
		out.Results = append(out.Results, render(tc.Name, tc.Template, data))
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		fail(err)
	}
}

// caseData resolves a case's data: a dataset name, an inline object, or nothing.
func caseData(datasets map[string]map[string]string, tc corpusCase) (map[string][]byte, error) {
	values := map[string]string{}
	if len(tc.Data) > 0 {
		var name string
		if json.Unmarshal(tc.Data, &name) == nil {
			set, ok := datasets[name]
			if !ok {
				return nil, fmt.Errorf("case %q: unknown dataset %q", tc.Name, name)
			}
			values = set
		} else if err := json.Unmarshal(tc.Data, &values); err != nil {
			return nil, fmt.Errorf("case %q: data: %w", tc.Name, err)
		}
	}
	data := make(map[string][]byte, len(values))
	for k, v := range values {
		data[k] = []byte(v)
	}
	return data, nil
}

func render(name, tpl string, data map[string][]byte) result {
	secret := &corev1.Secret{}
	err := esotemplate.Execute(map[string][]byte{templateKey: []byte(tpl)}, data,
		esv1.TemplateScopeValues, esv1.TemplateTargetData, secret)
	if err != nil {
		class, message := classify(err.Error())
		return result{Name: name, Error: class, Message: message}
	}
	output := secret.Data[templateKey]
	if !utf8.Valid(output) {
		return result{Name: name, OutputBase64: base64.StdEncoding.EncodeToString(output)}
	}
	text := string(output)
	return result{Name: name, Output: &text}
}

// classify maps an engine error to the corpus's error classes:
//   - parse: the template does not parse (syntax, or a function not in the map);
//   - missingkey: a field names a key the map does not have (missingkey=error);
//   - call: a function was called and returned an error;
//   - exec: any other execution error (argument types or counts, nil, range).
//
// The message keeps text/template's part, without ESO's "unable to ... at key" wrappers.
func classify(message string) (string, string) {
	class := "exec"
	switch {
	case strings.Contains(message, "unable to parse template at key"):
		class = "parse"
	case strings.Contains(message, "map has no entry for key"):
		class = "missingkey"
	case strings.Contains(message, "error calling "):
		class = "call"
	}
	if i := strings.Index(message, "template: "); i >= 0 {
		message = message[i:]
	}
	return class, message
}

// engineVersion names the ESO and Sprig modules this binary was built with.
func engineVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	var parts []string
	for _, dep := range info.Deps {
		if dep.Path != "github.com/external-secrets/external-secrets" && dep.Path != "github.com/Masterminds/sprig/v3" {
			continue
		}
		text := dep.Path + " " + dep.Version
		if dep.Replace != nil {
			text += " => " + dep.Replace.Path + " " + dep.Replace.Version
		}
		parts = append(parts, text)
	}
	return strings.Join(parts, "; ") + "; " + info.GoVersion
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "oracle:", err)
	os.Exit(1)
}
