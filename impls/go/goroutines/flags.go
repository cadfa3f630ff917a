package main

import (
	"fmt"
	"strconv"
	"strings"
)

// count is a non-negative decimal integer flag.
type count int

func (c *count) String() string { return strconv.Itoa(int(*c)) }

func (c *count) Set(s string) error {
	n, err := strconv.ParseInt(s, 10, strconv.IntSize)
	if err != nil || n < 0 {
		return fmt.Errorf("want a non-negative decimal integer, got %q", s)
	}
	*c = count(n)
	return nil
}

// choice is a flag whose value is one of a fixed set of words.
type choice struct {
	value   string
	choices []string
}

func (c *choice) String() string { return c.value }

func (c *choice) Set(s string) error {
	for _, ok := range c.choices {
		if s == ok {
			c.value = s
			return nil
		}
	}
	return fmt.Errorf("want one of %s, got %q", strings.Join(c.choices, ", "), s)
}
