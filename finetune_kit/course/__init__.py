"""What every notebook of the course shares: profiles, plots, answer pickers, step guards, the reference
answers' loader, headless execution, the student hand-out and the nbgrader round trip."""
