"""act.policy"""
