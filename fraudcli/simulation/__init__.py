"""The internals of `fraudcli.simulate`: the world, its population, and the transactions.

Modules: `world` (cities and merchant categories), `population` (users and merchants, fixed by
the seed), `rows` (the columnar row buffer and its Arrow table), `legit` (everyday spending),
`fraud` (the four fraud patterns). The public entry point is `fraudcli.simulate.simulate`.
"""
