"""The local console of ``foreman local serve``: a web page of the executions, their state graphs, and the queues."""
