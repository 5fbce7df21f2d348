"""A patient's course in time: what happened when, as lanes of items (``describe``), placed
on a page (``layout``) and drawn (``render``, the only module that imports matplotlib).
"""
