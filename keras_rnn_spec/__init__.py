"""The executable specification of Keras recurrent layers' return_sequences and return_state."""
