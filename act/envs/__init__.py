"""act.envs"""
