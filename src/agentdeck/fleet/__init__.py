"""The fleet runtime: drivers that run agents, deployments, autoscaling, built-in templates."""
