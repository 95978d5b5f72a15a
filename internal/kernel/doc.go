// Package kernel says what the running kernel does with dumps under
// churn, from the kernel's own BTF where it can and from its version
// where BTF cannot tell, and always says which source decided
// (docs/kernel.md has the facts).
package kernel
