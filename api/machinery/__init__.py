"""API machinery shared by the apiserver's handlers: Status errors, selectors, tables, patches."""
