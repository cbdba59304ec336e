"""Plans: frozen operations, the pure planner, renderings."""
