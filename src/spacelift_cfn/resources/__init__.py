"""One module per resource type; each provides create, update and delete."""
