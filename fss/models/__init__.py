"""Networks: small nn.Modules whose constructors take one params dataclass."""
