"""The engine's foundation: errors, atomic writes, locks, progress, the home folder, config and version records, runtime (cores, threads) and vector helpers. Imports nothing else from engine."""
