"""act.record"""
