package main

import (
	"fmt"
	"io"
	"strings"
)

// writeDiff prints a unified-style line diff of a and b (longest common
// subsequence; configs are small). It returns false when they are equal.
func writeDiff(w io.Writer, nameA, nameB, a, b string) bool {
	x, y := splitLines(a), splitLines(b)
	n, m := len(x), len(y)
	// lcs[i][j] = LCS length of x[i:] and y[j:].
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out []string
	changed := false
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && x[i] == y[j]:
			out = append(out, "  "+x[i])
			i, j = i+1, j+1
		case j < m && (i == n || lcs[i][j+1] >= lcs[i+1][j]):
			out = append(out, "+ "+y[j])
			j, changed = j+1, true
		default:
			out = append(out, "- "+x[i])
			i, changed = i+1, true
		}
	}
	if !changed {
		return false
	}
	fmt.Fprintf(w, "--- %s\n+++ %s\n", nameA, nameB)
	// Print changed lines with two lines of context.
	const ctx = 2
	last := -1
	for k, l := range out {
		if !near(out, k, ctx) {
			continue
		}
		if last >= 0 && k > last+1 {
			fmt.Fprintln(w, "  ...")
		}
		fmt.Fprintln(w, l)
		last = k
	}
	return true
}

func near(out []string, k, ctx int) bool {
	for d := -ctx; d <= ctx; d++ {
		if i := k + d; i >= 0 && i < len(out) && !strings.HasPrefix(out[i], "  ") {
			return true
		}
	}
	return false
}

func splitLines(s string) []string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}
