import streamlit as st

st.title("Clinicians")
