"""rnnlab's models: the recurrent net (rnn, lstm, gru cells; layers, bidirectional, attention), the NumPy RNN with
hand-written backpropagation, and the losses. A user's own model follows the same protocol (docs/extending.md).
"""
