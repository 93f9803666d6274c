"""Formulas to frozen specifications: roles, patsy designs, the ``(1 | cluster)`` and ``s(x)`` terms."""
