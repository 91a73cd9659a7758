"""act.eval"""
