"""What both backends need: argument checks and dim binding (`arguments`), minted names
(`naming`), scalar literals (`literal`), the compiled-function wrapper (`compiled`), the
shared runtime (`runtime`, plain Python) and how exported modules embed it (`export`).
Nothing here imports a backend."""
