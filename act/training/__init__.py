"""act.training"""
