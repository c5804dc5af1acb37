"""callcore.sim"""
