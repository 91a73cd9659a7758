"""act.cli"""
