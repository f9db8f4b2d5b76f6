"""Developer scripts: the Azure demo and the Azurite helper it shares with tests and bench."""
