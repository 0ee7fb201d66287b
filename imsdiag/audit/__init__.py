"""`imsdiag audit`: predict from a directory export which mailboxes a KB Q178436 loop will hit, before it loops.

The flow is one way: readers (`exports`, `zonefile`) -> records (`records`) -> `check` -> `summary` -> reporters;
`run.audit` ties them together for the command and for library users.
"""
