module cmbench/impls/go

go 1.22
