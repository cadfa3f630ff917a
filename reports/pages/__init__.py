"""The site's pages: each module turns the loaded results into one page's tables and figures."""
