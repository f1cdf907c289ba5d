"""GitHub webhooks: a signed ``push`` or published ``release`` deploys the agents whose
``config.source`` names the repository and branch."""
